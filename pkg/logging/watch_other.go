//go:build !unix

package logging

import "context"

// Watch does nothing where SIGUSR1 does not exist; Toggle still works.
func (t *LevelToggle) Watch(ctx context.Context) {}
