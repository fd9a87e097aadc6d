package controller_test

import (
	"os"
	"testing"

	"github.com/crimig/kubectl-crimig/test/sim/internal/simtest"
)

func TestMain(m *testing.M) { os.Exit(simtest.Main(m)) }
