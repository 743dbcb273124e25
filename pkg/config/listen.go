package config

import "net"

// localListen is the listen address of a server whose public URL is a
// loopback address (a server for this machine: no config, or
// insecure_local_dev): an address without a host ("":5000") binds
// loopback instead of every interface, so nothing outside reaches it.
func localListen(addr, publicURL string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" || production(publicURL) {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// localOnlyListen fails a listen address that is not loopback under
// insecure_local_dev, which is about this machine only.
func (c *checker) localOnlyListen(key, addr string, insecureLocalDev bool) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !insecureLocalDev {
		return // hostPort reports a malformed address
	}
	if host == "" || !isLoopbackHost(host) {
		c.fail(key, "%q listens beyond this machine; insecure_local_dev allows only a loopback address (127.0.0.1:PORT)", addr)
	}
}
