package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rassh/rassh/client"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// runSession connects, checks the host and runs the command or a shell. It
// returns the remote exit status, or exitFailure for rassh's own failures.
func runSession(args []string) int {
	fs := flag.NewFlagSet("rassh", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	forceTTY := fs.Bool("t", false, "request a terminal even with a command")
	noTTY := fs.Bool("T", false, "never request a terminal")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rassh [-p port] [-l user] [-i identity] [-F config] [-o name=value] [-t|-T] [user@]host [command]")
		fmt.Fprintln(os.Stderr, "       rassh verify [flags] [user@]host")
		fmt.Fprintln(os.Stderr, "       rassh known-hosts-command [flags] HOST KEYTYPE KEY")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 {
		if err == nil {
			fs.Usage()
		}
		return exitFailure
	}

	conn, err := connect(&common, fs.Arg(0))
	if err != nil {
		fail("%v", err)
		return exitFailure
	}
	defer conn.Close()
	warnSkipped(conn)

	command := strings.Join(fs.Args()[1:], " ")
	tty := term.IsTerminal(int(os.Stdin.Fd())) && (command == "" || *forceTTY) && !*noTTY
	status, err := runRemote(conn.Client, command, tty)
	if err != nil {
		fail("%v", err)
		return exitFailure
	}
	return status
}

// connect loads the configuration and dials the host with the full check.
func connect(common *commonFlags, target string) (*client.Conn, error) {
	cfg, err := common.config()
	if err != nil {
		return nil, &setupError{err}
	}
	login, address, err := common.target(target)
	if err != nil {
		return nil, &setupError{err}
	}
	dialer, err := newDialer(cfg)
	if err != nil {
		return nil, &setupError{err}
	}
	return dialer.Dial(context.Background(), login, address)
}

// setupError is a failure before rassh dials: an invalid configuration file,
// -o option or target. rassh verify reports it as a usage error.
type setupError struct{ err error }

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

func warnSkipped(conn *client.Conn) {
	if conn.Skipped != "" {
		fail("warning: %s: not attested: %s", conn.Host.String(), conn.Skipped)
	}
}

// runRemote runs command (a shell when empty) and returns its exit status.
func runRemote(c *ssh.Client, command string, tty bool) (int, error) {
	sess, err := c.NewSession()
	if err != nil {
		return 0, fmt.Errorf("open session: %w", err)
	}
	defer sess.Close()
	sess.Stdout, sess.Stderr = os.Stdout, os.Stderr
	stdin, err := sess.StdinPipe()
	if err != nil {
		return 0, err
	}

	if tty {
		restore, err := startTerminal(sess)
		if err != nil {
			return 0, err
		}
		defer restore()
	}
	stopSignals := forwardSignals(sess, tty)
	defer stopSignals()

	if command == "" {
		err = sess.Shell()
	} else {
		err = sess.Start(command)
	}
	if err != nil {
		return 0, fmt.Errorf("start remote command: %w", err)
	}
	// Stdin is copied apart from Wait, so a remote exit ends the session
	// even while the local terminal has no input.
	go func() {
		io.Copy(stdin, os.Stdin)
		stdin.Close()
	}()
	return exitStatus(sess.Wait())
}

func exitStatus(err error) (int, error) {
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		if exitErr.Signal() != "" {
			fail("remote command killed by signal %s", exitErr.Signal())
			return 128 + signalNumber(exitErr.Signal()), nil
		}
		return exitErr.ExitStatus(), nil
	case errors.As(err, &missing):
		return exitFailure, errors.New("the remote command ended without an exit status")
	}
	return exitFailure, err
}

// startTerminal puts the local terminal in raw mode, asks for a remote PTY
// of the same size and follows window-size changes.
func startTerminal(sess *ssh.Session) (func(), error) {
	fd := int(os.Stdin.Fd())
	width, height, err := term.GetSize(fd)
	if err != nil {
		width, height = 80, 24
	}
	termName := os.Getenv("TERM")
	if termName == "" {
		termName = "xterm"
	}
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty(termName, height, width, modes); err != nil {
		return nil, fmt.Errorf("request terminal: %w", err)
	}
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("raw terminal mode: %w", err)
	}

	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			if w, h, err := term.GetSize(fd); err == nil {
				sess.WindowChange(h, w)
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(winch)
		term.Restore(fd, state)
	}, nil
}

// forwardSignals sends SIGINT, SIGTERM, SIGHUP and SIGQUIT to the remote
// command. With a terminal in raw mode, ^C reaches the remote PTY as a byte
// instead, and only SIGTERM and SIGHUP are forwarded.
func forwardSignals(sess *ssh.Session, tty bool) func() {
	forwarded := map[os.Signal]ssh.Signal{syscall.SIGTERM: ssh.SIGTERM, syscall.SIGHUP: ssh.SIGHUP}
	if !tty {
		forwarded[syscall.SIGINT] = ssh.SIGINT
		forwarded[syscall.SIGQUIT] = ssh.SIGQUIT
	}
	ch := make(chan os.Signal, 4)
	for sig := range forwarded {
		signal.Notify(ch, sig)
	}
	go func() {
		for sig := range ch {
			sess.Signal(forwarded[sig])
		}
	}()
	return func() {
		signal.Stop(ch)
		close(ch)
	}
}

func signalNumber(name string) int {
	numbers := map[string]syscall.Signal{"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
		"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM, "PIPE": syscall.SIGPIPE, "ABRT": syscall.SIGABRT,
		"SEGV": syscall.SIGSEGV, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "ALRM": syscall.SIGALRM}
	if n, ok := numbers[name]; ok {
		return int(n)
	}
	return 0
}
