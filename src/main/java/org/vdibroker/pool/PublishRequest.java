package org.vdibroker.pool;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Size;
import java.util.List;

/**
 * An admin publishes a new version of a pool's templates. Each listed template gets a new publication, with a new
 * {@code templateRef} or, when that is absent, the same one (the image behind it was updated in place). No list:
 * every template of the pool.
 */
public record PublishRequest(@Size(max = 100) List<@Valid Template> templates) {

    public record Template(@NotBlank String hypervisorId, @Size(min = 1, max = 1000) String templateRef) {
    }
}
