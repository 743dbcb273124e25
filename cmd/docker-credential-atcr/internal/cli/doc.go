// Package cli is docker-credential-atcr's command line: the hidden Docker
// credential-helper verbs (get, store, erase, list) and the commands people
// run (login, logout, status, switch, configure-docker, version).
//
// Everything the commands touch outside the process — stdio, environment,
// home directory, parent command line, browser, network, clock — comes in
// through Env, so tests drive the real commands in-process with fakes, and
// main only builds SystemEnv and calls Run.
package cli
