package client

import "testing"

func TestCheckedNameUsesHostKeyAlias(t *testing.T) {
	d := &Dialer{}
	if got := d.checkedName("127.0.0.1:2222"); got != "127.0.0.1:2222" {
		t.Fatalf("checkedName without alias = %q, want the dialed address", got)
	}
	d.HostKeyAlias = "web1.fleet.test"
	if got := d.checkedName("127.0.0.1:2222"); got != "web1.fleet.test:22" {
		t.Fatalf("checkedName with alias = %q, want web1.fleet.test:22", got)
	}
	if got := KnownHostsName(d.checkedName("127.0.0.1:2222")); got != "web1.fleet.test" {
		t.Fatalf("known_hosts name with alias = %q, want web1.fleet.test", got)
	}
}
