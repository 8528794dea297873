package org.vdibroker.security;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A user name cannot forge a log line. */
class LogSafeTest {

    @Test
    void lineBreaksAndControlCharactersCannotForgeLogLines() {
        assertThat(LogSafe.of("eve\n2026-12-04 INFO User admin signed in")).doesNotContain("\n").startsWith("eve?");
        assertThat(LogSafe.of("a\r\u001b[31mb\u2028c")).isEqualTo("a??[31mb?c");
        assertThat(LogSafe.of("x".repeat(500))).hasSize(103).endsWith("...");
        assertThat(LogSafe.of("zoë")).isEqualTo("zoë");
        assertThat(LogSafe.of(null)).isEqualTo("null");
    }
}
