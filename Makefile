# rassh: see README.md for what each target does.
GO      ?= go
BIN     := bin
CMDS    := rassh-ca rassh-agent rassh
PKGS    := ./...

.PHONY: all build test test-short race lint demo bench clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

# The full suite: vet, then every test with the race detector. Tests that
# start sshd need root and Debian's openssh-server (.ci/run installs it).
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

test-short:
	$(GO) test -count=1 -short $(PKGS)

# go vet always; staticcheck and govulncheck when they are installed
# (go install honnef.co/go/tools/cmd/staticcheck@latest,
#  go install golang.org/x/vuln/cmd/govulncheck@latest).
lint:
	$(GO) vet $(PKGS)
	@if command -v staticcheck >/dev/null; then staticcheck $(PKGS); else echo "staticcheck not installed, skipped"; fi
	@if command -v govulncheck >/dev/null; then govulncheck $(PKGS); else echo "govulncheck not installed, skipped"; fi

demo: build
	./scripts/demo.sh

bench: build
	./bench/run.sh

clean:
	rm -rf $(BIN)
