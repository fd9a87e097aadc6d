package tui

import (
	"os"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/crimig/kubectl-crimig/pkg/fleetstatus"
	fst "github.com/crimig/kubectl-crimig/pkg/fleetstatus/fleetstatustest"
)

// Goldens are rendered without colour so that they do not depend on the
// terminal running the tests.
func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

var testNow = fst.Now

func fixedNow() time.Time { return testNow }

// fleet is the status of the fixture fleet (see fleetstatustest.Fleet).
func fleet() *fleetstatus.Status { return fleetstatus.BuildStatus(fst.Fleet(), nil) }

// fakeSource is a Source the test feeds by hand.
type fakeSource struct{ ch chan *fleetstatus.Status }

func newFakeSource() *fakeSource                          { return &fakeSource{ch: make(chan *fleetstatus.Status, 4)} }
func (f *fakeSource) Updates() <-chan *fleetstatus.Status { return f.ch }
