// Package embeddedtest shares one embedded S3 server among all tests of a
// test binary. versitygw allows one gateway per process, so a package whose
// tests need real S3 starts it once in TestMain with Run and gives each test
// a bucket of its own with FreshBucket.
package embeddedtest
