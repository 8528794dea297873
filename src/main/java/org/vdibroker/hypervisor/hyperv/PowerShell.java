package org.vdibroker.hypervisor.hyperv;

import java.time.Duration;

/** Runs one PowerShell script on the Hyper-V host and hands back what it printed. Blocking: call from a worker. */
interface PowerShell extends AutoCloseable {

    /** What a script printed and its exit code. */
    record Output(int exitCode, String stdout, String stderr) {
    }

    /**
     * Runs {@code script}, giving up after about {@code timeout}.
     *
     * @throws RuntimeException whatever the transport threw; {@link HyperVErrors} classifies it
     */
    Output run(String script, Duration timeout);

    /** Prepares the client (no call to the host), so the first real call is not slowed by set-up. */
    default void warmUp() {
    }

    @Override
    default void close() {
    }
}
