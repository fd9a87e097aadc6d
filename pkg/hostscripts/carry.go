package hostscripts

import (
	"encoding/json"
	"fmt"
)

// CarryResult is the last line carry-images.sh prints.
type CarryResult struct {
	// Carried were copied from docker into the new runtime's store now.
	Carried []string `json:"carried"`
	// Present were in the new runtime's store already (an earlier run).
	Present []string `json:"present"`
	// Missing are in neither store: the node must pull them itself.
	Missing []string `json:"missing"`
}

// ParseCarryResult decodes the output of carry-images.sh.
func ParseCarryResult(out []byte) (*CarryResult, error) {
	var r CarryResult
	if err := json.Unmarshal(lastJSONLine(out), &r); err != nil {
		return nil, fmt.Errorf("decode %s result: %w", CarryImages, err)
	}
	return &r, nil
}
