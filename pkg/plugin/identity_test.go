package plugin

import (
	"errors"
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"
)

func TestIdentityWithoutUSER(t *testing.T) {
	t.Setenv("USER", "")
	defer func(f func() (*user.User, error)) { currentUser = f }(currentUser)
	host, _ := os.Hostname()
	for _, tc := range []struct {
		name string
		user func() (*user.User, error)
		want string
	}{
		{"account", func() (*user.User, error) { return &user.User{Username: "ops"}, nil }, "ops@" + host + "/r1"},
		{"no account", func() (*user.User, error) { return nil, errors.New("unknown userid") }, "uid" + strconv.Itoa(os.Getuid()) + "@" + host + "/r1"},
	} {
		currentUser = tc.user
		if got := identity("r1"); got != tc.want || strings.HasPrefix(got, "unknown@") {
			t.Errorf("%s: identity = %q, want %q", tc.name, got, tc.want)
		}
	}
	t.Setenv("USER", "alice")
	if got := identity("r1"); got != "alice@"+host+"/r1" {
		t.Errorf("with $USER: identity = %q", got)
	}
}
