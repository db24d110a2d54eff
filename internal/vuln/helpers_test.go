package vuln_test

import (
	"os"
	"time"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
