package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

// variant is one command line timed against the testbed.
type variant struct {
	Name string
	Argv []string
}

// variants returns the command lines compared: rassh in each mode and stock
// ssh with its default and with rassh's key exchange. Every one runs "true"
// as root on the same sshd, checks the host certificate against the same
// @cert-authority line and logs in with the same Ed25519 key file.
func (tb *testbed) variants(bin tools) []variant {
	// The mode is quoted because rassh reads -o values as YAML, where a
	// bare off is the boolean false.
	rassh := func(mode string) []string {
		return []string{bin.Rassh, "-F", tb.RasshConf, "-p", tb.Port, "-o", "host_key_alias=" + hostName,
			"-o", `mode="` + mode + `"`, "root@127.0.0.1", "true"}
	}
	ssh := func(extra ...string) []string {
		argv := []string{bin.SSH, "-F", "/dev/null", "-p", tb.Port, "-i", tb.UserKey, "-o", "IdentitiesOnly=yes",
			"-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
			"-o", "UserKnownHostsFile=" + tb.KnownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
			"-o", "HostKeyAlias=" + hostName, "-o", "UpdateHostKeys=no", "-o", "LogLevel=ERROR"}
		argv = append(argv, extra...)
		return append(argv, "root@127.0.0.1", "true")
	}
	return []variant{
		{"rassh, mode off", rassh("off")},
		{"rassh, epoch", rassh("epoch")},
		{"rassh, fresh", rassh("fresh")},
		{"ssh, defaults", ssh()},
		{"ssh, curve25519-sha256", ssh("-o", "KexAlgorithms=curve25519-sha256")},
	}
}

// runOnce runs argv with SSH_AUTH_SOCK unset and returns its wall time, from
// just before fork to just after the exit status is collected. The command
// must exit 0 and print nothing on standard output. Standard error may carry
// a warning, because rassh warns in mode off that the host is not attested.
func runOnce(ctx context.Context, argv []string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%v: %w\n%s", argv, err, stderr.Bytes())
	}
	if stdout.Len() != 0 {
		return 0, fmt.Errorf("%v: unexpected output %q", argv, stdout.Bytes())
	}
	return elapsed, nil
}

// measure runs warmup and then runs rounds. In each round every variant
// runs once, starting from a different variant each round, so that drift in
// the machine's load reaches all variants alike.
func measure(ctx context.Context, vs []variant, warmup, runs int) (map[string][]time.Duration, error) {
	times := make(map[string][]time.Duration, len(vs))
	for round := 0; round < warmup+runs; round++ {
		for k := range vs {
			v := vs[(round+k)%len(vs)]
			d, err := runOnce(ctx, v.Argv)
			if err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", v.Name, round, err)
			}
			if round >= warmup {
				times[v.Name] = append(times[v.Name], d)
			}
		}
	}
	return times, nil
}

// stats summarizes one variant's samples.
type stats struct {
	N                     int
	Median, P25, P75, Min time.Duration
}

func summarize(samples []time.Duration) stats {
	s := slices.Clone(samples)
	slices.Sort(s)
	return stats{N: len(s), Median: quantile(s, 0.5), P25: quantile(s, 0.25), P75: quantile(s, 0.75), Min: s[0]}
}

// quantile interpolates linearly between the two nearest ranks of sorted.
func quantile(sorted []time.Duration, q float64) time.Duration {
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[lo]
	}
	frac := pos - float64(lo)
	return sorted[lo] + time.Duration(frac*float64(sorted[lo+1]-sorted[lo]))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
