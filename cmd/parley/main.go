// Command parley is the parley video-conferencing server and its
// operator's command line.
//
//	parley serve [flags]              run the server
//	parley room create NAME [flags]   create a room and print its join link
//	parley room list [flags]          list rooms and their links
//	parley room delete NAME [flags]   delete a room (and end its call)
//	parley backup FILE [flags]        copy the database, live or not
//	parley outbox [show ID] [flags]   list outgoing mail, or print one message
//	parley health [flags]             exit 0 if the server answers
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
	"strings"
	"syscall"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses of the command line.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line was wrong
)

// runMain runs a command line, prints its error (if any) on stderr as
// "parley: ..." and returns the exit status. It is main without the exit,
// so tests can compare what an operator sees.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := run(ctx, args, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintln(stderr, "parley:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.usage != "" {
			fmt.Fprint(stderr, "\n"+ue.usage)
		}
		return exitUsage
	}
	return exitError
}

// usageError is a command line that parley cannot make sense of; usage,
// if set, is printed after the message.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(usage, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), usage: usage}
}

const usage = `parley: self-hosted video conferencing

Usage:
  parley serve [flags]              run the server (parley help serve lists its flags)
  parley room create NAME [flags]   create a room and print its join link
  parley room list [flags]          list rooms and their join links
  parley room delete NAME [flags]   delete a room, ending its call
  parley backup FILE [flags]        copy the database to FILE, while the server runs or not
  parley group list|show|limits|disable|enable [NAME] [flags]
                                    list, inspect, limit or disable group accounts
  parley outbox [show ID] [flags]   list outgoing mail, or print one message whole
  parley account list|create|rename|delete [ARGS] [flags]
                                    the shared meeting accounts group leaders book
  parley coordinator list|grant|revoke [GROUP] [flags]
                                    who may approve and change bookings
  parley booking list|show|approve|decline|cancel [ID] [flags]
                                    the coordinator's decisions on booked meetings
  parley health [flags]             exit 0 if the server answers (for scripts and Docker)
  parley version                    print the version
  parley help [COMMAND]             print this, or a command's usage

The room, group, backup, outbox, account, coordinator, booking and health
commands find the server through its data directory (--data DIR, default
./data, env PARLEY_DATA).
`

// run dispatches a command line; it is runMain without the printing of
// errors.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErrorf(usage, "no command given")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stderr)
	case "room", "rooms":
		return runRoom(ctx, args[1:], stdout, stderr)
	case "group", "groups":
		return runGroup(ctx, args[1:], stdout)
	case "backup":
		return runBackup(ctx, args[1:], stdout)
	case "outbox":
		return runOutbox(ctx, args[1:], stdout)
	case "account", "accounts": // bookings_cli.go
		return runAccount(ctx, args[1:], stdout)
	case "coordinator", "coordinators":
		return runCoordinator(ctx, args[1:], stdout)
	case "booking", "bookings":
		return runBooking(ctx, args[1:], stdout)
	case "health":
		return runHealth(ctx, args[1:], stdout)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "parley", version)
		return nil
	case "help", "-h", "-help", "--help":
		return runHelp(args[1:], stdout)
	default:
		return usageErrorf("", "unknown command %q; parley --help lists the commands", args[0])
	}
}

// runHelp prints the usage of the command named in args, or parley's own.
func runHelp(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "serve":
		_, err := parseServeFlags([]string{"-h"}, stdout, os.LookupEnv)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	case "room", "rooms":
		fmt.Fprint(stdout, roomUsage)
	case "group", "groups":
		fmt.Fprint(stdout, groupUsage)
	case "backup":
		fmt.Fprint(stdout, backupUsage)
	case "outbox":
		fmt.Fprint(stdout, outboxUsage)
	case "account", "accounts":
		fmt.Fprint(stdout, accountUsage)
	case "coordinator", "coordinators":
		fmt.Fprint(stdout, coordinatorUsage)
	case "booking", "bookings":
		fmt.Fprint(stdout, bookingUsage)
	case "health":
		fmt.Fprint(stdout, healthUsage)
	case "version", "help":
		fmt.Fprint(stdout, usage)
	default:
		return usageErrorf("", "no help for %q; parley --help lists the commands", args[0])
	}
	return nil
}

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// parseInterspersed parses fs's flags wherever they stand among the
// arguments (flags may follow NAME), returning the other arguments. A
// request for help returns flag.ErrHelp; any other flag error is a
// usageError carrying cmdUsage.
func parseInterspersed(fs *flag.FlagSet, args []string, cmdUsage string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			msg := err.Error()
			if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
				msg = "unknown flag -" + name
			}
			return nil, usageErrorf(cmdUsage, "%s: %s", fs.Name(), msg)
		}
		if n := len(args) - fs.NArg(); n > 0 && args[n-1] == "--" {
			return append(rest, fs.Args()...), nil // all after "--" are arguments
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// dataDirFlag defines --data on fs, defaulting to PARLEY_DATA or ./data.
func dataDirFlag(fs *flag.FlagSet) *string {
	def := defaultDataDir
	if v, ok := os.LookupEnv("PARLEY_DATA"); ok {
		def = v
	}
	return fs.String("data", def, "data directory of the server (env PARLEY_DATA)")
}
