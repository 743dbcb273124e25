package parentref

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ParentCmdline returns the parent process's arguments from ps(1). ps joins
// them with spaces, so arguments containing spaces come back split; image
// references never contain spaces.
func ParentCmdline() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ps", "-o", "args=", "-p", strconv.Itoa(os.Getppid()))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("ps: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ps: %w", err)
	}
	data, readErr := io.ReadAll(io.LimitReader(stdout, maxCmdline))
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("ps: %w", err)
	}
	if readErr != nil {
		return nil, fmt.Errorf("ps: %w", readErr)
	}
	return strings.Fields(string(data)), nil
}
