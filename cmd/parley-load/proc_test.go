package main

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want time.Duration
		ok   bool
	}{
		{"plain", "1234 (parley) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 12 0 100 1000000 2000 18446744073709551615", 3 * time.Second, true},
		{"spaces and parens in the name", "99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 100 10", 100 * time.Millisecond, true},
		{"no name", "1234 parley S 1", 0, false},
		{"truncated", "1234 (parley) S 1 2 3", 0, false},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 3 0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat))
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseStatCPU = %v, %v; want %v, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseStatusMem(t *testing.T) {
	status := "Name:\tparley\nVmPeak:\t 1000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t12\n"
	rss, hwm, err := parseStatusMem([]byte(status))
	if err != nil || rss != 40960 || hwm != 51200 {
		t.Errorf("parseStatusMem = %d, %d, %v; want 40960, 51200", rss, hwm, err)
	}
	if _, _, err := parseStatusMem([]byte("Name:\tkthreadd\n")); err == nil {
		t.Error("no error for a status without memory lines")
	}
	if _, _, err := parseStatusMem([]byte("VmHWM:\t1 MB\nVmRSS:\t1 kB\n")); err == nil {
		t.Error("no error for a unit other than kB")
	}
}

func TestReadProcSelf(t *testing.T) {
	s, err := readProc(strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if s.rssKB == 0 || s.hwmKB < s.rssKB {
		t.Errorf("rss %d kB, hwm %d kB", s.rssKB, s.hwmKB)
	}
	if _, err := readProc("999999999"); err == nil {
		t.Error("no error for a missing process")
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"10/s": 10, "2.5": 2.5, "120/m": 2} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0/s", "-1", "5/h", "x/s"} {
		if _, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q) accepted", in)
		}
	}
}
