// Command parley is the parley video-conferencing server and its
// operator's command line.
//
//	parley serve [flags]              run the server
//	parley room create NAME [flags]   create a room and print its join link
//	parley room list [flags]          list rooms and their links
//	parley room delete NAME [flags]   delete a room (and end its call)
//	parley version                    print the version
//
// Every flag has a PARLEY_* environment twin (e.g. --udp-port and
// PARLEY_UDP_PORT); a flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}

const usage = `parley: self-hosted video conferencing

Usage:
  parley serve [flags]              run the server (parley serve -h lists flags)
  parley room create NAME [flags]   create a room and print its join link
  parley room list [flags]          list rooms and their join links
  parley room delete NAME [flags]   delete a room, ending its call
  parley version                    print the version
`

// run dispatches a command line; it is main without the process exit, so
// tests can drive the CLI.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stderr)
	case "room", "rooms":
		return runRoom(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "parley", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
