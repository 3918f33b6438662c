package tee

import (
	"context"
	"fmt"

	"github.com/google/go-tdx-guest/client"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
)

// DefaultTDXGuestPath is the device node of the Linux TDX guest driver.
const DefaultTDXGuestPath = "/dev/tdx_guest"

// TDXGuest gets quotes through the TDX guest device's ioctls (TDREPORT, then
// GetQuote through the host's quoting service). Kernels from 6.7 on drop the
// GetQuote ioctl in favor of configfs-tsm.
type TDXGuest struct {
	// Device is an open TDX guest device. Nil means opening Path for each
	// quote and closing it afterwards.
	Device client.Device
	// Path is the device to open when Device is nil; empty means
	// DefaultTDXGuestPath.
	Path string
}

// Evidence returns a quote whose REPORTDATA is v.
func (p *TDXGuest) Evidence(ctx context.Context, v binding.Value) (verifier.Evidence, error) {
	if err := ctx.Err(); err != nil {
		return verifier.Evidence{}, fmt.Errorf("tdx guest device: %w", err)
	}
	device := p.Device
	if device == nil {
		path := p.Path
		if path == "" {
			path = DefaultTDXGuestPath
		}
		d := &client.LinuxDevice{}
		if err := d.Open(path); err != nil {
			return verifier.Evidence{}, fmt.Errorf("tdx guest device: %w", err)
		}
		defer d.Close()
		device = d
	}

	quote, err := client.GetRawQuote(device, v)
	if err != nil {
		return verifier.Evidence{}, fmt.Errorf("tdx guest device: get quote: %w", err)
	}
	return quoteEvidence("tdx guest device", quote, v)
}
