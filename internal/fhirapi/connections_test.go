package fhirapi

import (
	"net/http"
	"testing"
)

func TestClientsAreCountedByAddressAndIPv6Network(t *testing.T) {
	cases := []struct {
		name, remote, want string
	}{
		{"an IPv4 client is its address", "192.0.2.7:51000", "192.0.2.7"},
		{"an IPv4-mapped IPv6 address is the IPv4 client", "[::ffff:192.0.2.7]:51000", "192.0.2.7"},
		{"an IPv6 client is its /64", "[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"another address of the same /64 is the same client", "[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"an address without a port is taken as it is", "192.0.2.8", "192.0.2.8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := clientOf(&http.Request{RemoteAddr: c.remote}); got != c.want {
				t.Errorf("clientOf(%q) = %q, want %q", c.remote, got, c.want)
			}
		})
	}
}
