package main

import (
	"fmt"
	"strconv"
)

// devPort is a port of dev's embedded Temporal server or UI. A port set
// by flag or environment is pinned: when it is taken, dev fails instead
// of moving to a free one, so that clients configured for it keep working.
type devPort struct {
	port   int
	pinned bool
}

func (p *devPort) String() string { return strconv.Itoa(p.port) }

func (p *devPort) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("want a port number between 0 and 65535")
	}
	p.port, p.pinned = n, true
	return nil
}

// envPort reads a devPort from the environment; set, it is pinned.
func (c *config) envPort(env *environment, name string, def int) devPort {
	p := devPort{port: def}
	if v := env.getenv(name); v != "" {
		if err := p.Set(v); err != nil {
			c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: %w", name, v, err))
		}
	}
	return p
}
