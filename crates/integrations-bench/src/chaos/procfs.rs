//! Readings from `/proc` (Linux): resident memory and TCP connections to a port.

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes.
pub fn status_kb(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with(field) && line[field.len()..].starts_with(':'))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// This process's resident set size in bytes.
pub fn rss_bytes() -> Option<u64> {
    status_kb("self", "VmRSS")
}

/// The number of established TCP connections whose local port is `port` (the server side of
/// every connection to a listener on `port`), from `/proc/net/tcp` and `/proc/net/tcp6`.
pub fn established_to(port: u16) -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|table| count_established(&table, port))
        .sum()
}

/// The number of established TCP connections whose REMOTE port is `port`: the client side of
/// every connection to a listener on `port`, i.e. what the clients' pools really hold open.
///
/// The server side can show more: sockets accepted from an overflowing accept queue (SYN
/// cookies, retransmitted connects) whose client end the client already closed.
pub fn established_from_clients_to(port: u16) -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|table| count_established_remote(&table, port))
        .sum()
}

/// Counts the rows of a `/proc/net/tcp` table with local port `port` in state `01`.
fn count_established(table: &str, port: u16) -> usize {
    count_rows(table, port, |local, _| local)
}

/// Counts the rows of a `/proc/net/tcp` table with remote port `port` in state `01`.
fn count_established_remote(table: &str, port: u16) -> usize {
    count_rows(table, port, |_, remote| remote)
}

fn count_rows(table: &str, port: u16, pick: impl for<'a> Fn(&'a str, &'a str) -> &'a str) -> usize {
    let port_hex = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1).unwrap_or("");
            let remote = fields.next().unwrap_or("");
            let state = fields.next().unwrap_or("");
            pick(local, remote).ends_with(&port_hex) && state == "01"
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_established_rows_of_the_port_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1
   3: 0100007F:1F90 0100007F:C351 06 00000000:00000000 00:00000000 00000000     0        0 4 1
";
        assert_eq!(count_established(table, 0x1F90), 1);
        assert_eq!(count_established(table, 0xC350), 1);
        assert_eq!(count_established(table, 1), 0);
        // Client side of connections to 0x1F90: row 2 only (row 3 is not established).
        assert_eq!(count_established_remote(table, 0x1F90), 1);
        assert_eq!(count_established_remote(table, 0xC350), 1);
        assert_eq!(count_established_remote(table, 1), 0);
    }

    #[test]
    fn reads_this_process() {
        assert!(rss_bytes().is_some_and(|b| b > 0));
    }
}
