package main

import "flag"

// tokenFlag adds --token (also OMNICHART_TOKEN) to a command that can talk to a
// running server.
func tokenFlag(fs *flag.FlagSet) *string {
	return fs.String("token", "", "bearer access token for --server (see \"omnichart admin token\")")
}
