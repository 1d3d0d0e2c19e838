module github.com/smtpbench/smtpbench/ci/mailhog

go 1.26

require (
	github.com/mailhog/data v1.0.1
	github.com/mailhog/smtp v1.0.1
)

require github.com/smartystreets/goconvey v1.8.1 // indirect
