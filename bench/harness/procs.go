package main

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// processes are the long-running children (CA, agent, sshd) that the harness
// stops before it exits.
type processes struct {
	mu       sync.Mutex
	children []*child
}

// child is a started process. Done is closed when it has exited.
type child struct {
	Cmd  *exec.Cmd
	Done chan struct{}
}

// start starts name with args, its standard output and error appended to
// logPath.
func (p *processes) start(logPath, name string, args ...string) (*child, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A process group of its own, so that stopping it also reaches the
	// processes sshd forks for connections still open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{Cmd: cmd, Done: make(chan struct{})}
	go func() { cmd.Wait(); close(c.Done) }()
	p.mu.Lock()
	p.children = append(p.children, c)
	p.mu.Unlock()
	return c, nil
}

// stopAll sends SIGTERM to each child's process group, in reverse start
// order, and SIGKILL to any group still alive after two seconds.
func (p *processes) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.children) - 1; i >= 0; i-- {
		c := p.children[i]
		pgid := c.Cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-c.Done:
		case <-time.After(2 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-c.Done
		}
	}
	p.children = nil
}
