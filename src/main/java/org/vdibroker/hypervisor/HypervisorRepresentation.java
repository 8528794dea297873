package org.vdibroker.hypervisor;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;
import java.time.Instant;
import java.util.Map;

/**
 * A hypervisor in the admin API. {@code credentials} is write-only: accepted on create/update, never returned;
 * {@code hasCredentials} tells whether some are stored.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HypervisorRepresentation(
        @NotBlank @Pattern(regexp = "[a-z0-9][a-z0-9-]{0,62}",
                message = "must be 1-63 lowercase letters, digits, dashes") String id,
        @NotBlank @Size(max = 63) String driver,
        @Size(max = 1000) String endpoint,
        Map<@Size(max = 100) String, @Size(max = 2000) String> config,
        @JsonProperty(access = JsonProperty.Access.WRITE_ONLY) Map<String, String> credentials,
        @NotNull @Valid Capacity capacity,
        @Min(1) @Max(10000) Integer concurrencyLimit,
        @DecimalMin("0.1") @DecimalMax("100") Double cpuOvercommit,
        @DecimalMin("0.1") @DecimalMax("100") Double memoryOvercommit,
        Boolean maintenance,
        @JsonProperty(access = JsonProperty.Access.READ_ONLY) Boolean hasCredentials,
        @JsonProperty(access = JsonProperty.Access.READ_ONLY) Instant createdAt,
        @JsonProperty(access = JsonProperty.Access.READ_ONLY) Instant updatedAt,
        @JsonProperty(access = JsonProperty.Access.READ_ONLY) EvacuationRepresentation evacuation) {

    /** The same hypervisor with its evacuation's progress (null: none under way). */
    public HypervisorRepresentation withEvacuation(EvacuationRepresentation progress) {
        return new HypervisorRepresentation(id, driver, endpoint, config, credentials, capacity, concurrencyLimit,
                cpuOvercommit, memoryOvercommit, maintenance, hasCredentials, createdAt, updatedAt, progress);
    }

    /** What the hypervisor may host. */
    public record Capacity(@Min(1) int vcpus, @Min(1) long memoryMb, @Min(1) int maxDesktops) {
    }

    @Override
    public String toString() {
        return "HypervisorRepresentation[id=" + id + ", driver=" + driver + "]";
    }
}
