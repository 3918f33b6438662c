package cli

import (
	"bytes"
	"strings"
	"testing"
)

func testCommands(ran *[]string) map[string]Command {
	return map[string]Command{
		"go": {Summary: "run it", Run: func(args []string) int {
			*ran = append(*ran, strings.Join(args, " "))
			if len(args) == 1 && args[0] == "-h" {
				return 2 // what the flag package makes a command return for -h
			}
			return 7
		}},
	}
}

func TestMainDispatch(t *testing.T) {
	var ran []string
	var stderr bytes.Buffer
	if got := Main("prog", testCommands(&ran), []string{"go", "a", "b"}, &stderr); got != 7 {
		t.Errorf("status %d, want the command's 7", got)
	}
	if len(ran) != 1 || ran[0] != "a b" {
		t.Errorf("command ran with %q, want [\"a b\"]", ran)
	}
}

func TestMainUsageAndHelp(t *testing.T) {
	var ran []string
	for _, tc := range []struct {
		args   []string
		status int
		first  string
	}{
		{nil, 2, "usage: prog COMMAND [flags]"},
		{[]string{"--help"}, 0, "usage: prog COMMAND [flags]"},
		{[]string{"help"}, 0, "usage: prog COMMAND [flags]"},
		{[]string{"frob"}, 2, `prog: unknown command "frob"`},
		{[]string{"go", "-h"}, 0, ""},
	} {
		var stderr bytes.Buffer
		got := Main("prog", testCommands(&ran), tc.args, &stderr)
		if got != tc.status {
			t.Errorf("%q: status %d, want %d", tc.args, got, tc.status)
		}
		if first, _, _ := strings.Cut(stderr.String(), "\n"); first != tc.first {
			t.Errorf("%q: stderr starts with %q, want %q", tc.args, first, tc.first)
		}
	}
}
