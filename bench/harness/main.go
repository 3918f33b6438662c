// Command harness times "rassh HOST true" in each attestation mode and stock
// "ssh HOST true" against one real sshd on loopback, whose host key is held
// by the real rassh-agent in HostKeyAgent mode, and prints the medians and
// ratios as Markdown. bench/run.sh runs it as root; BENCHMARKS.md records
// the method and a run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the harness's flags.
type options struct {
	bin           tools
	runs, warmup  int
	keepOnFailure bool
	hold          bool
}

func main() {
	os.Exit(run())
}

func run() int {
	opts, err := parseFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: %v\n", err)
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "harness: must run as root, because sshd and the HostKeyAgent socket require it")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "rassh-bench-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: %v\n", err)
		return 1
	}
	// sshd's unprivileged child reads files below dir.
	os.Chmod(dir, 0o755)
	procs := &processes{}
	err = benchmark(ctx, dir, opts, procs)
	procs.stopAll()
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "harness: interrupted")
		os.RemoveAll(dir)
		return 130
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: %v\n", err)
		if opts.keepOnFailure {
			fmt.Fprintf(os.Stderr, "harness: logs kept in %s\n", dir)
			return 1
		}
		printLogs(dir)
		os.RemoveAll(dir)
		return 1
	}
	os.RemoveAll(dir)
	return 0
}

func parseFlags() (options, error) {
	var o options
	binDir := flag.String("bin", "bin", "`directory` holding rassh, rassh-agent and rassh-ca")
	flag.StringVar(&o.bin.SSH, "ssh", "/usr/bin/ssh", "stock ssh `binary`")
	flag.StringVar(&o.bin.SSHD, "sshd", "/usr/sbin/sshd", "sshd `binary`")
	flag.StringVar(&o.bin.Keygen, "ssh-keygen", "/usr/bin/ssh-keygen", "ssh-keygen `binary`")
	flag.IntVar(&o.runs, "runs", 30, "timed runs per variant (at least 20)")
	flag.IntVar(&o.warmup, "warmup", 3, "untimed warm-up rounds before the timed runs")
	flag.BoolVar(&o.keepOnFailure, "keep", false, "keep the temporary directory and its logs when a step fails")
	flag.BoolVar(&o.hold, "hold", false, "set up, print the command lines, and keep the testbed running until SIGINT or SIGTERM instead of timing (for profiling)")
	flag.Parse()
	if flag.NArg() != 0 {
		return o, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if o.runs < 20 || o.warmup < 0 {
		return o, fmt.Errorf("-runs must be at least 20 and -warmup not negative, got %d and %d", o.runs, o.warmup)
	}
	abs, err := filepath.Abs(*binDir)
	if err != nil {
		return o, err
	}
	o.bin.Rassh, o.bin.Agent, o.bin.CA = filepath.Join(abs, "rassh"), filepath.Join(abs, "rassh-agent"), filepath.Join(abs, "rassh-ca")
	for _, b := range []string{o.bin.Rassh, o.bin.Agent, o.bin.CA, o.bin.SSH, o.bin.SSHD, o.bin.Keygen} {
		if _, err := os.Stat(b); err != nil {
			return o, fmt.Errorf("missing binary: %w (run make build)", err)
		}
	}
	return o, nil
}

// benchmark sets up the testbed, checks both attested modes once, times the
// token source directly and then every variant, and prints the report.
func benchmark(ctx context.Context, dir string, opts options, procs *processes) error {
	tb, err := setUp(ctx, dir, opts.bin, procs)
	if err != nil {
		return err
	}

	// The first epoch token is made in the background after the agent
	// starts; rassh verify succeeds once it is served.
	reports, err := tb.waitVerified(ctx, opts.bin, 20*time.Second)
	if err != nil {
		return err
	}
	if opts.hold {
		for _, v := range tb.variants(opts.bin) {
			fmt.Printf("%s:\n  SSH_AUTH_SOCK= %s\n", v.Name, strings.Join(v.Argv, " "))
		}
		fmt.Printf("testbed in %s; stop with SIGINT or SIGTERM\n", dir)
		<-ctx.Done()
		return nil
	}

	before, err := tb.countRequests()
	if err != nil {
		return err
	}
	latency, err := tb.measureAttest(ctx, opts.warmup, opts.runs)
	if err != nil {
		return fmt.Errorf("time the token source: %w", err)
	}
	afterLatency, err := tb.countRequests()
	if err != nil {
		return err
	}
	attests := afterLatency[attestPath].Durations[len(before[attestPath].Durations):]
	latency.Server = summarize(attests[opts.warmup:])

	started := time.Now()
	times, err := measure(ctx, tb.variants(opts.bin), opts.warmup, opts.runs)
	if err != nil {
		return err
	}
	after, err := tb.countRequests()
	if err != nil {
		return err
	}

	printReport(report{
		Started: started, Runs: opts.runs, Warmup: opts.warmup, Variants: tb.variants(opts.bin), Times: times,
		Latency: latency, Verified: reports, FreshRuns: opts.warmup + opts.runs,
		Tokens:        after[attestPath].Count - afterLatency[attestPath].Count,
		KeySetFetches: after[jwksPath].Count - afterLatency[jwksPath].Count,
	})
	return nil
}

// waitVerified runs "rassh verify" in epoch and fresh mode until both
// succeed, and returns their transport lines.
func (tb *testbed) waitVerified(ctx context.Context, bin tools, limit time.Duration) ([]string, error) {
	deadline := time.Now().Add(limit)
	var lines []string
	for _, mode := range []string{"epoch", "fresh"} {
		argv := []string{bin.Rassh, "verify", "-F", tb.RasshConf, "-p", tb.Port, "-o", "host_key_alias=" + hostName,
			"-o", "mode=" + mode, "root@127.0.0.1"}
		for {
			out, err := output(ctx, argv)
			if err == nil {
				lines = append(lines, transportLine(out))
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, fmt.Errorf("rassh verify in %s mode did not succeed: %w\n%s", mode, err, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return lines, nil
}

// transportLine returns the "mode: ... via ..." line of a verify report.
func transportLine(report string) string {
	for _, l := range strings.Split(report, "\n") {
		if strings.Contains(l, "mode:") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return "(no mode line in the report)"
}

// printLogs copies the CA's, the agent's and sshd's logs to standard error.
func printLogs(dir string) {
	for _, name := range []string{"ca.log", "agent.log", "sshd.log"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			fmt.Fprintf(os.Stderr, "--- %s\n%s", name, data)
		}
	}
}
