package plugin

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/klog/v2"
)

// addLogFileFlag binds --log-file, where logs go while a full-screen view
// owns the terminal.
func addLogFileFlag(fs *pflag.FlagSet, path *string) {
	fs.StringVar(path, "log-file", *path, "While the interactive view runs, write client logs (warnings, retries) to this file instead of discarding them.")
}

// redirectKlog sends klog (client-go's warnings and retries) to path, or
// discards it, so that nothing draws over the view. restore puts klog back
// on stderr.
func redirectKlog(path string) (w io.Writer, restore func(), err error) {
	w = io.Discard
	var f *os.File
	if path != "" {
		if f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		w = f
	}
	klog.Flush()
	klog.LogToStderr(false)
	klog.SetOutput(w)
	return w, func() {
		klog.Flush()
		klog.LogToStderr(true)
		if f != nil {
			_ = f.Close()
		}
	}, nil
}

// isTerminalWriter is isTerminal for an output stream.
func isTerminalWriter(out io.Writer) bool {
	f, ok := out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
