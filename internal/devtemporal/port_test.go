package devtemporal

import (
	"bytes"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestChoosePort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	free, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		want     int
		pinned   bool
		fallback int
		port     int    // 0: any port other than taken
		log      string // in the INFO line; "" when an error is expected
	}{
		{"free", free, false, 0, free, "addr=127.0.0.1:" + strconv.Itoa(free)},
		{"free, pinned", free, true, 0, free, "addr=127.0.0.1:" + strconv.Itoa(free)},
		{"taken", taken, false, 0, 0, "in_use=" + strconv.Itoa(taken)},
		{"taken, fallback", taken, false, free, free, "in_use=" + strconv.Itoa(taken)},
		{"taken, pinned", taken, true, 0, 0, ""},
		{"any", 0, false, 0, 0, "level=INFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			cfg := Config{Host: "127.0.0.1", Logger: slog.New(slog.NewTextHandler(&buf, nil))}
			port, err := choosePort(cfg, "frontend", tc.want, tc.pinned, tc.fallback)
			if tc.log == "" {
				if err == nil || !strings.Contains(err.Error(), strconv.Itoa(tc.want)) {
					t.Errorf("choosePort(%d, pinned) = %d, %v; want an error naming the port", tc.want, port, err)
				}
				return
			}
			if err != nil || port == taken || port == 0 || (tc.port != 0 && port != tc.port) {
				t.Errorf("choosePort(%d) = %d, %v; want %d", tc.want, port, err, tc.port)
			}
			if !strings.Contains(buf.String(), "level=INFO") || !strings.Contains(buf.String(), tc.log) ||
				!strings.Contains(buf.String(), strconv.Itoa(port)) {
				t.Errorf("choosePort(%d) logged %q, want an INFO line with %s and the port", tc.want, buf.String(), tc.log)
			}
		})
	}
}
