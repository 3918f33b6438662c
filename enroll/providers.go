package enroll

import (
	"fmt"
	"log/slog"

	"github.com/rassh/rassh/enroll/azuretpm"
	"github.com/rassh/rassh/enroll/tee"
)

// Provider kinds of ProviderConfig.Kind.
const (
	ProviderConfigFSTSM = "configfs-tsm"
	ProviderTDXGuest    = "tdx-guest"
	ProviderAzure       = "azure"
	ProviderSimulated   = "simulated"
)

// ProviderConfig selects and configures an evidence provider. There is no
// default kind: a host states what it is.
type ProviderConfig struct {
	// Kind is "configfs-tsm", "tdx-guest", "azure" or "simulated".
	Kind string `json:"kind"`
	// TDXGuestDevice is the device of kind tdx-guest; empty means
	// /dev/tdx_guest.
	TDXGuestDevice string               `json:"tdx_guest_device,omitempty"`
	Azure          *azuretpm.Config     `json:"azure,omitempty"`
	Simulated      *tee.SimulatedConfig `json:"simulated,omitempty"`
}

// NewProvider returns the provider that cfg selects. A simulated provider
// logs a warning through logger (nil means slog.Default()).
func NewProvider(cfg ProviderConfig, logger *slog.Logger) (Provider, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Azure != nil && cfg.Kind != ProviderAzure {
		return nil, fmt.Errorf("evidence: azure settings given for kind %q", cfg.Kind)
	}
	if cfg.Simulated != nil && cfg.Kind != ProviderSimulated {
		return nil, fmt.Errorf("evidence: simulated settings given for kind %q", cfg.Kind)
	}
	if cfg.TDXGuestDevice != "" && cfg.Kind != ProviderTDXGuest {
		return nil, fmt.Errorf("evidence: tdx_guest_device given for kind %q", cfg.Kind)
	}

	switch cfg.Kind {
	case ProviderConfigFSTSM:
		return &tee.ConfigFSTSM{}, nil
	case ProviderTDXGuest:
		return &tee.TDXGuest{Path: cfg.TDXGuestDevice}, nil
	case ProviderAzure:
		var azureCfg azuretpm.Config
		if cfg.Azure != nil {
			azureCfg = *cfg.Azure
		}
		return azuretpm.New(azureCfg)
	case ProviderSimulated:
		if cfg.Simulated == nil {
			return nil, fmt.Errorf("evidence: kind simulated needs a simulated section with authority_dir")
		}
		return tee.NewSimulated(*cfg.Simulated, logger)
	case "":
		return nil, fmt.Errorf("evidence: kind is not set; use configfs-tsm, tdx-guest, azure or simulated")
	}
	return nil, fmt.Errorf("evidence: unknown kind %q; use configfs-tsm, tdx-guest, azure or simulated", cfg.Kind)
}
