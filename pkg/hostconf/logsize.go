package hostconf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// dockerSizeToQuantity converts a docker log-opts max-size ("100m", "1g",
// "10k", "1.5g", "512kb") to a Kubernetes quantity ("100Mi", "1Gi", "10Ki").
// Docker parses these with units.RAMInBytes, so the units are binary.
func dockerSizeToQuantity(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	num := strings.TrimRight(t, "kmgtpb")
	unit := strings.TrimSuffix(t[len(num):], "b")
	num = strings.TrimSpace(num)
	exp, ok := unitExp[unit]
	if !ok {
		return "", fmt.Errorf("log-opts max-size %q: unknown unit", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) {
		return "", fmt.Errorf("log-opts max-size %q: want a positive size such as 100m", s)
	}
	if f == math.Trunc(f) && exp > 0 {
		return fmt.Sprintf("%d%s", int64(f), binarySuffix[exp]), nil
	}
	bytes := f * math.Pow(1024, float64(exp))
	for e := 5; e > 0; e-- {
		if v := bytes / math.Pow(1024, float64(e)); v == math.Trunc(v) && v >= 1 {
			return fmt.Sprintf("%d%s", int64(v), binarySuffix[e]), nil
		}
	}
	return strconv.FormatInt(int64(math.Ceil(bytes)), 10), nil
}

var unitExp = map[string]int{"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}

var binarySuffix = []string{"", "Ki", "Mi", "Gi", "Ti", "Pi"}

// localDefaultMaxFile is the local driver's max-file when only max-size is
// set. Without max-size nothing is carried over, even for the local driver's
// implicit 20m: the kubelet's defaults (10Mi x 5) are close, and an explicit
// value already in config.yaml should win over an implicit docker default.
const localDefaultMaxFile = 5

// logMaxFromDaemon maps log-opts max-size/max-file to the kubelet. Without
// max-size docker did not rotate json-file logs, and the kubelet's own
// defaults (or config.yaml's values) are the better choice, so nothing is set.
func logMaxFromDaemon(c *DaemonConfig) (*LogMax, []Loss, error) {
	size, files := c.LogOpts["max-size"], c.LogOpts["max-file"]
	if size == "" || (c.LogDriver != "" && c.LogDriver != "json-file" && c.LogDriver != "local") {
		return nil, nil, nil
	}
	q, err := dockerSizeToQuantity(size)
	if err != nil {
		return nil, nil, fmt.Errorf("daemon.json: %w", err)
	}
	lm := &LogMax{MaxSize: q, MaxFiles: 1} // json-file keeps one file by default
	if c.LogDriver == "local" {
		lm.MaxFiles = localDefaultMaxFile
	}
	if files != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(files), 10, 32)
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("daemon.json: log-opts max-file %q: want a positive integer", files)
		}
		lm.MaxFiles = int32(n)
	}
	var losses []Loss
	if lm.MaxFiles < 2 {
		// The kubelet rejects containerLogMaxFiles < 2.
		losses = append(losses, newLoss(LossInfo, "log-opts.max-file", strconv.Itoa(int(lm.MaxFiles)),
			"the kubelet keeps at least 2 log files per container; containerLogMaxFiles is set to 2", ""))
		lm.MaxFiles = 2
	}
	return lm, losses, nil
}
