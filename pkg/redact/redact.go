// Package redact owns what counts as a credential in what crimig records:
// the values of kubectl's credential flags and the user-info of URLs. The
// evidence bundle, the crimig.io/state annotation, events, plans and the
// host journal record command lines, URLs and error messages only after
// passing them through here.
package redact

import (
	"regexp"
	"strings"
)

// Mask replaces a credential.
const Mask = "<redacted>"

// credentialFlags are kubectl's flags (genericclioptions.ConfigFlags) whose
// value is a credential or names whose credential it is. --client-key,
// --client-certificate and --kubeconfig are paths, not secrets; --as names an
// identity, which the API server's audit log records anyway.
var credentialFlags = []string{"--token", "--password", "--username"}

// userinfo is the user[:password]@ of a URL, up to the last @ before the
// path, so that an unencoded @ in a password is masked too.
var userinfo = regexp.MustCompile(`://[^/\s"'<>]*@`)

// Text masks the user-info of every URL in s.
func Text(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfo.ReplaceAllString(s, "://"+Mask+"@")
}

// Args returns a copy of a command line with the values of credential
// flags, in both --flag=value and --flag value form, and URL user-info
// masked.
func Args(args []string) []string {
	out := make([]string, len(args))
	maskNext := false
	for i, a := range args {
		switch {
		case maskNext:
			out[i], maskNext = Mask, false
			continue
		case a == "--":
			copy(out[i:], textAll(args[i:]))
			return out
		}
		out[i] = Text(a)
		for _, f := range credentialFlags {
			if a == f {
				maskNext = true
			} else if strings.HasPrefix(a, f+"=") {
				out[i] = f + "=" + Mask
			}
		}
	}
	return out
}

func textAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = Text(a)
	}
	return out
}
