package org.vdibroker.hypervisor;

import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * A driver that can check, against the live hypervisor, what an admin is about to save: its own settings (networks,
 * storage) and a pool's template on it (base image, desktop size). Each answer maps the offending field to a
 * sentence; empty when all is well. A stage failing with an unreachable {@link HypervisorException} means the
 * hypervisor could not be asked, and the caller saves with a warning instead.
 */
public interface ChecksDefinitions {

    /** Problems of the hypervisor's own settings, keyed by {@code config.<property>}. */
    CompletionStage<Map<String, String>> checkSettings();

    /**
     * Problems of a template on this hypervisor for desktops of the given size, keyed by {@code templateRef} or
     * {@code desktop}.
     */
    CompletionStage<Map<String, String>> checkTemplate(String templateRef, int vcpus, long memoryMb);
}
