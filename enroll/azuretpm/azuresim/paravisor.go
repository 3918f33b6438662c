package azuresim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/rassh/rassh/enroll/azuretpm"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// ReportNVSize is the size of the report NV index the paravisor defines:
// the largest NV index swtpm (libtpms) allows. Real Azure reports are about
// 2600 bytes, so the simulated runtime data is shorter than Azure's.
const ReportNVSize = 2048

// Paravisor relays TPM commands from its listener to a TPM and, after each
// successful NV_Write to the user-data index, writes a fresh HCL report to
// the report index, as Azure's paravisor does.
type Paravisor struct {
	// TPM is the connection to the real (software) TPM.
	TPM transport.TPM
	VM  verifier.VMConfiguration
	TD  tdxsim.TDConfig

	mu sync.Mutex // serializes commands, including the paravisor's own
}

// Setup defines the report index and writes a first report with zero user
// data, like a freshly booted VM.
func (p *Paravisor) Setup() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := azuretpm.DefineNV(p.TPM, azuretpm.ReportIndex, ReportNVSize); err != nil {
		return fmt.Errorf("paravisor setup: %w", err)
	}
	return p.writeReport(make([]byte, 64))
}

// Serve relays connections from l until l is closed.
func (p *Paravisor) Serve(l net.Listener) error {
	for {
		conn, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go p.relay(conn)
	}
}

func (p *Paravisor) relay(conn net.Conn) {
	defer conn.Close()
	for {
		command, err := azuretpm.ReadMessage(conn)
		if err != nil {
			return
		}
		response, err := p.handle(command)
		if err != nil {
			return
		}
		if _, err := conn.Write(response); err != nil {
			return
		}
	}
}

func (p *Paravisor) handle(command []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	response, err := p.TPM.Send(command)
	if err != nil {
		return nil, err
	}
	if isUserDataWrite(command) && responseCode(response) == 0 {
		userData, err := azuretpm.ReadNV(p.TPM, azuretpm.UserDataIndex)
		if err != nil {
			return nil, err
		}
		if err := p.writeReport(userData); err != nil {
			return nil, err
		}
	}
	return response, nil
}

func (p *Paravisor) writeReport(userData []byte) error {
	padded := make([]byte, 64)
	copy(padded, userData)
	report := HCLReport(RuntimeData(p.VM, padded), p.TD)
	if len(report) > ReportNVSize {
		return fmt.Errorf("paravisor: report of %d bytes exceeds the %d-byte index", len(report), ReportNVSize)
	}
	return azuretpm.WriteNV(p.TPM, azuretpm.ReportIndex, report, false)
}

// isUserDataWrite reports whether command is TPM2_NV_Write to the user-data
// index: after the 10-byte header come the auth handle and the NV index.
func isUserDataWrite(command []byte) bool {
	if len(command) < 18 {
		return false
	}
	code := tpm2.TPMCC(binary.BigEndian.Uint32(command[6:10]))
	index := tpm2.TPMHandle(binary.BigEndian.Uint32(command[14:18]))
	return code == tpm2.TPMCCNVWrite && index == azuretpm.UserDataIndex
}

func responseCode(response []byte) uint32 {
	if len(response) < 10 {
		return ^uint32(0)
	}
	return binary.BigEndian.Uint32(response[6:10])
}
