package org.vdibroker;

import org.infinispan.protostream.GeneratedSchema;
import org.infinispan.protostream.annotations.ProtoSchema;
import org.vdibroker.access.IdempotencyKeys;
import org.vdibroker.access.login.ClusterWindowLimiter;
import org.vdibroker.agent.AgentCheckIn;
import org.vdibroker.audit.AuditEvent;
import org.vdibroker.cluster.Counters;
import org.vdibroker.cluster.DefinitionCache;
import org.vdibroker.cluster.WireInstant;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.desktop.InventoryChange;
import org.vdibroker.hypervisor.HypervisorCacheEntry;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.simulator.SimulatedHost;
import org.vdibroker.hypervisor.simulator.SimulatedVm;
import org.vdibroker.hypervisor.simulator.SimulatedVmPage;
import org.vdibroker.hypervisor.simulator.SimulatorStore;
import org.vdibroker.persistence.OutboxFailure;
import org.vdibroker.pool.LoginHistory;
import org.vdibroker.pool.Pool;
import org.vdibroker.pool.PoolEntity;
import org.vdibroker.pool.ProvisionProblem;
import org.vdibroker.pool.SpareSchedule;
import org.vdibroker.pool.WireDayOfWeek;
import org.vdibroker.protocol.ConnectionSettings;
import org.vdibroker.protocol.TicketState;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;

/**
 * The ProtoStream schema of every cache key, value and function the broker puts on the wire between nodes or into
 * the outbox journal on disk ({@code cluster.ClusterMarshaller}), generated at compile time by protostream-processor
 * from the types' annotations: {@code WireSchemaImpl} and {@code proto/vdi-broker.proto}. A type a cache holds is
 * listed here (ClusterMarshallerTest fails otherwise); its field numbers are its wire format, so operations.md
 * ("Upgrades") says which changes nodes of two versions still read from each other.
 */
@ProtoSchema(schemaPackageName = "vdibroker", schemaFileName = "vdi-broker.proto", schemaFilePath = "proto/",
        service = false, includeClasses = {
            WireInstant.class, Counters.Increment.class, DefinitionCache.Versioned.class,
            DesktopState.class, DesktopStatus.class, TaskRef.class, InventoryChange.class,
            InventoryChange.Created.class,
            SessionState.class, SessionStatus.class, TicketState.class, ConnectionSettings.class,
            AuditEvent.class, OutboxFailure.class, AgentCheckIn.class,
            IdempotencyKeys.Remembered.class, ClusterWindowLimiter.Counts.class, ClusterWindowLimiter.Count.class,
            Pool.class, Pool.Template.class, PoolEntity.Assignment.class, PoolEntity.UnknownVms.class,
            SpareSchedule.class, SpareSchedule.Window.class, WireDayOfWeek.class, ProvisionProblem.class,
            LoginHistory.Sum.class, HypervisorCacheEntry.class,
            SimulatedHost.class, SimulatedVm.class, SimulatedVm.Operation.class, SimulatedVmPage.class,
            SimulatorStore.HostKey.class, SimulatorStore.VmKey.class, SimulatorStore.PageKey.class })
public interface WireSchema extends GeneratedSchema {
}
