package e2e_test

import (
	"os"
	"testing"

	"github.com/daect/expectct/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
