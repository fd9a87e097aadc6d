package hostconf

import (
	"regexp"
	"sort"
	"strings"
)

// Severity of a Loss, so that inspect can map it onto a finding without
// re-deriving which settings matter.
const (
	// LossWarning means behaviour changes after the migration.
	LossWarning = "warning"
	// LossInfo means the setting has no equivalent but nothing a pod sees changes.
	LossInfo = "info"
)

// Loss is one setting that cannot be carried over to the new runtime as-is.
// Value is a short, redacted rendering of the original value: it never holds
// credentials.
type Loss struct {
	Key      string `json:"key"`
	Value    string `json:"value,omitempty"`
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
	Remedy   string `json:"remedy,omitempty"`
}

const maxLossValue = 200

var (
	urlUserinfo = regexp.MustCompile(`://[^/@\s"']+@`)
	secretKey   = regexp.MustCompile(`(?i)(^|[-_.])(auths?|password|passwd|token|secret|credentials?)($|[-_.])`)
)

// redactValue keeps loss values printable and free of credentials: URL
// userinfo is masked, secret-looking keys lose their value entirely, and long
// values are cut so a plan stays readable.
func redactValue(key, v string) string {
	if secretKey.MatchString(key) && v != "" {
		return "<redacted>"
	}
	v = urlUserinfo.ReplaceAllString(v, "://<redacted>@")
	if len(v) > maxLossValue {
		v = v[:maxLossValue] + "…"
	}
	return v
}

func newLoss(sev, key, value, reason, remedy string) Loss {
	return Loss{Key: key, Value: redactValue(key, value), Severity: sev, Reason: reason, Remedy: remedy}
}

// sortLosses gives the plan a stable order regardless of map iteration.
func sortLosses(ls []Loss) {
	sort.SliceStable(ls, func(i, j int) bool {
		if ls[i].Key != ls[j].Key {
			return ls[i].Key < ls[j].Key
		}
		return strings.Compare(ls[i].Value, ls[j].Value) < 0
	})
}
