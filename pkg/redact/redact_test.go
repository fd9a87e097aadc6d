package redact

import (
	"strings"
	"testing"
)

const secret = "S3CRET"

func TestArgsMasksEveryCredentialFlag(t *testing.T) {
	for _, flag := range credentialFlags {
		for name, args := range map[string][]string{
			"separate": {"kubectl-crimig", "migrate", "n1", flag, secret, "--report", "dir"},
			"equals":   {"kubectl-crimig", "migrate", flag + "=" + secret, "n1"},
		} {
			t.Run(flag+"/"+name, func(t *testing.T) {
				got := Args(args)
				if strings.Contains(strings.Join(got, " "), secret) {
					t.Fatalf("Args(%q) = %q: the credential is still there", args, got)
				}
				if !strings.Contains(strings.Join(got, " "), flag) {
					t.Fatalf("Args(%q) = %q: the flag's name should stay", args, got)
				}
			})
		}
	}
}

func TestArgsKeepsOtherFlags(t *testing.T) {
	args := []string{"kubectl-crimig", "migrate", "--client-key", "/k.pem", "--as", "alice", "--token-file-not-a-flag", "x", "n1"}
	if got := Args(args); strings.Join(got, " ") != strings.Join(args, " ") {
		t.Fatalf("Args(%q) = %q, want it unchanged", args, got)
	}
}

func TestArgsMasksURLUserinfo(t *testing.T) {
	args := []string{"kubectl-crimig", "migrate", "--source", "repo=https://bob:" + secret + "@mirror.example/crio/",
		"--server=https://u:" + secret + "@api:6443", "--", "x", "http://a:" + secret + "@b/"}
	got := strings.Join(Args(args), " ")
	if strings.Contains(got, secret) {
		t.Fatalf("Args = %q: the credential is still there", got)
	}
	if !strings.Contains(got, "repo=https://"+Mask+"@mirror.example/crio/") {
		t.Fatalf("Args = %q: want the URL kept with its user-info masked", got)
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"dnf could not install cri-o from https://u:p@m.example/x/": "dnf could not install cri-o from https://" + Mask + "@m.example/x/",
		"https://u:p@ss@m.example/":                                 "https://" + Mask + "@m.example/",
		"mail alice@example.com at https://m.example/a@b":           "mail alice@example.com at https://m.example/a@b",
		"no url here": "no url here",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
