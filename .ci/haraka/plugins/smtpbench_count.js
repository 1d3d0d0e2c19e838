// smtpbench_count: the only plugin of the Haraka that smtpbench's tests run.
// It accepts every recipient and every message, and before Haraka answers
// 250 to the end of data it appends the message's Message-ID to the file
// named in config/smtpbench_count_file, so the test can compare Haraka's
// count (and the IDs) with smtpbench's report.
const fs = require('node:fs')

exports.register = function () {
    this.file = this.config.get('smtpbench_count_file')
}

exports.hook_rcpt = function (next) {
    next(OK)
}

exports.hook_queue = function (next, connection) {
    const id = (connection.transaction.header.get('Message-ID') || '-').trim()
    fs.appendFileSync(this.file, `${id}\n`)
    next(OK)
}
