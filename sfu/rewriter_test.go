package sfu

import "testing"

// rwStep feeds one packet to a rewriter, first calling
// switchSource(switchGap) if doSwitch is set.
type rwStep struct {
	doSwitch  bool
	switchGap uint32
	seq       uint16
	ts        uint32
	wantSeq   uint16
	wantTS    uint32
}

func TestRewriter(t *testing.T) {
	tests := []struct {
		name  string
		steps []rwStep
	}{
		{"passthrough", []rwStep{
			{seq: 100, ts: 1000, wantSeq: 100, wantTS: 1000},
			{seq: 101, ts: 1960, wantSeq: 101, wantTS: 1960},
			{seq: 102, ts: 2920, wantSeq: 102, wantTS: 2920},
		}},
		{"source wraparound", []rwStep{
			{seq: 65534, ts: 0xFFFFFC40, wantSeq: 65534, wantTS: 0xFFFFFC40},
			{seq: 65535, ts: 0x00000000, wantSeq: 65535, wantTS: 0},
			{seq: 0, ts: 960, wantSeq: 0, wantTS: 960},
			{seq: 1, ts: 1920, wantSeq: 1, wantTS: 1920},
		}},
		{"reordered packet keeps offset", []rwStep{
			{seq: 10, ts: 100, wantSeq: 10, wantTS: 100},
			{seq: 12, ts: 300, wantSeq: 12, wantTS: 300},
			{seq: 11, ts: 200, wantSeq: 11, wantTS: 200},
			{seq: 13, ts: 400, wantSeq: 13, wantTS: 400},
		}},
		{"switch source continues", []rwStep{
			{seq: 100, ts: 1000, wantSeq: 100, wantTS: 1000},
			{seq: 101, ts: 4000, wantSeq: 101, wantTS: 4000},
			{doSwitch: true, switchGap: 3000, seq: 5000, ts: 777, wantSeq: 102, wantTS: 7000},
			{seq: 5001, ts: 3777, wantSeq: 103, wantTS: 10000},
			{seq: 5002, ts: 3777, wantSeq: 104, wantTS: 10000},
		}},
		{"switch after reorder uses newest", []rwStep{
			{seq: 10, ts: 100, wantSeq: 10, wantTS: 100},
			{seq: 12, ts: 300, wantSeq: 12, wantTS: 300},
			{seq: 11, ts: 200, wantSeq: 11, wantTS: 200},
			{doSwitch: true, switchGap: 50, seq: 9, ts: 9, wantSeq: 13, wantTS: 350},
		}},
		{"switch across output wraparound", []rwStep{
			{seq: 65535, ts: 0xFFFFFFF0, wantSeq: 65535, wantTS: 0xFFFFFFF0},
			{doSwitch: true, switchGap: 0x20, seq: 300, ts: 5, wantSeq: 0, wantTS: 0x10},
			{seq: 301, ts: 6, wantSeq: 1, wantTS: 0x11},
		}},
		{"switch with zero gap still advances timestamp", []rwStep{
			{seq: 1, ts: 1000, wantSeq: 1, wantTS: 1000},
			{doSwitch: true, switchGap: 0, seq: 40000, ts: 5, wantSeq: 2, wantTS: 1001},
		}},
		{"switch before start is ignored", []rwStep{
			{doSwitch: true, switchGap: 99, seq: 7, ts: 70, wantSeq: 7, wantTS: 70},
			{seq: 8, ts: 80, wantSeq: 8, wantTS: 80},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rewriter
			for i, s := range tt.steps {
				if s.doSwitch {
					r.switchSource(s.switchGap)
				}
				gotSeq, gotTS := r.rewrite(s.seq, s.ts)
				if gotSeq != s.wantSeq || gotTS != s.wantTS {
					t.Fatalf("step %d: rewrite(%d, %d) = (%d, %d), want (%d, %d)",
						i, s.seq, s.ts, gotSeq, gotTS, s.wantSeq, s.wantTS)
				}
			}
		})
	}
}

func TestSeqNewer(t *testing.T) {
	tests := []struct {
		a, b uint16
		want bool
	}{
		{1, 0, true},
		{0, 1, false},
		{0, 65535, true},
		{65535, 0, false},
		{5, 5, false},
		{0x8000, 0, false}, // exactly half-way is not newer
		{0x7FFF, 0, true},
	}
	for _, tt := range tests {
		if got := seqNewer(tt.a, tt.b); got != tt.want {
			t.Errorf("seqNewer(%d, %d) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
