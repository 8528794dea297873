package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.vdibroker.audit.AuditService;
import org.vdibroker.hypervisor.ChecksDefinitions;
import org.vdibroker.hypervisor.DriverCalls;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorEntity;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.HypervisorHealth;
import org.vdibroker.hypervisor.HypervisorRegistry;

/**
 * Checks a pool's new or changed templates against their live hypervisors when the pool is saved: the base image
 * exists, the desktop size fits the hypervisor's declared capacity (with overcommit) and its host. Problems go into
 * the 400's {@code errors} under {@code templates[i].templateRef} or {@code desktop}; a hypervisor that cannot be
 * asked (down, no driver on this node) does not block the save: it is logged and audited as
 * {@code pool.template-unchecked}, and the pool's provisioning status shows any problem later.
 */
@ApplicationScoped
public class TemplateChecks {

    private static final Logger LOG = Logger.getLogger(TemplateChecks.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @Inject
    HypervisorRegistry registry;

    @Inject
    AuditService audit;

    @Inject
    HypervisorHealth health;

    /**
     * What a save's checks need of the pool as saved before it: its templates (hypervisor id to template ref),
     * whether the desktop size changes (true for a new pool), and the hypervisors its new templates name (detached).
     */
    record Saved(Map<String, String> templates, boolean sizeChanged, Map<String, HypervisorEntity> hypervisors) {
    }

    /**
     * Runs outside any transaction: it waits for hypervisors.
     *
     * @param stored the pool's templates before this save (hypervisor id to template ref); only others are checked
     * @param sizeChanged whether the desktop size changed, so every template's host is checked against it
     */
    void check(String poolId, List<PoolRepresentation.Template> templates, Map<String, String> stored,
            boolean sizeChanged, PoolRepresentation.DesktopSize size, Map<String, HypervisorEntity> hypervisors,
            Map<String, Object> errors) {
        for (int i = 0; i < templates.size(); i++) {
            PoolRepresentation.Template t = templates.get(i);
            HypervisorEntity h = hypervisors.get(t.hypervisorId());
            boolean changed = !t.templateRef().equals(stored.get(t.hypervisorId()));
            if (h == null || !changed && !sizeChanged) {
                continue;
            }
            if (size.vcpus() > h.vcpus * h.cpuOvercommit || size.memoryMb() > h.memoryMb * h.memoryOvercommit) {
                errors.put("desktop", "a desktop of " + size.vcpus() + " vCPU and " + size.memoryMb() + " MiB does"
                        + " not fit hypervisor " + h.id + "'s declared capacity (" + h.vcpus + " vCPU x "
                        + h.cpuOvercommit + ", " + h.memoryMb + " MiB x " + h.memoryOvercommit + ")");
            }
            live(poolId, i, t, size, h, errors);
        }
    }

    private void live(String poolId, int index, PoolRepresentation.Template t, PoolRepresentation.DesktopSize size,
            HypervisorEntity h, Map<String, Object> errors) {
        HypervisorDriver temporary = null;
        try {
            Optional<HypervisorDriver> driver = registry.driver(h.id);
            if (driver.isEmpty()) {
                temporary = registry.factory(h.driver).map(f -> f.create(registry.definition(h))).orElse(null);
                driver = Optional.ofNullable(temporary);
            }
            if (driver.isEmpty() || !(driver.get() instanceof ChecksDefinitions checks)) {
                return; // this driver cannot check templates
            }
            // through the hypervisor's breaker and timeout, like every other call to it
            Map<String, String> problems = DriverCalls.await(health.guard(h.id,
                    () -> checks.checkTemplate(t.templateRef(), size.vcpus(), size.memoryMb())), TIMEOUT);
            problems.forEach((field, why) -> errors.put(
                    "templateRef".equals(field) ? "templates[" + index + "].templateRef" : field, why));
        } catch (HypervisorException | LinkageError | IllegalStateException e) {
            LOG.warnf("Pool %s: template %s on hypervisor %s saved unchecked: %s", poolId, t.templateRef(), h.id,
                    e.getMessage());
            audit.record("pool.template-unchecked", "pool-service", poolId, null, null,
                    h.id + ": " + e.getMessage());
        } finally {
            if (temporary != null) {
                temporary.close();
            }
        }
    }
}
