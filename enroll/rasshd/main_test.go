package rasshd

import (
	"fmt"
	"os"
	"testing"
)

// respondFlag makes the test binary act as the ra-ssh subsystem responder,
// so sshd can run it: "rasshd.test -rasshd.respond SOCKET".
const respondFlag = "-rasshd.respond"

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == respondFlag {
		if err := Relay(os.Stdin, os.Stdout, os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
