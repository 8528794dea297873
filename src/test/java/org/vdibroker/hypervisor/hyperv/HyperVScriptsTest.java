package org.vdibroker.hypervisor.hyperv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The exact PowerShell of every operation, pinned by golden files in src/test/resources/hyperv/golden (regenerate
 * deliberately with {@code -Dgolden.update=true} and review the diff), and the quoting that keeps values out of code.
 */
class HyperVScriptsTest {

    private static final Path GOLDEN = Path.of("src/test/resources/hyperv/golden");

    @Test
    void everyOperationRunsExactlyThePinnedScript() throws Exception {
        golden("usage", HyperVScripts.usage());
        golden("list", HyperVScripts.listVms("finance-"));
        golden("provision", HyperVScripts.provision("finance-0a1b2c3d", "D:\\VDI\\Templates\\win11.vhdx",
                "D:\\VDI\\Desktops\\finance-0a1b2c3d.vhdx", "VDI-LAN", 2, 4096,
                Map.of("vdi.desktop-id", "0a1b2c3d-0000-4000-8000-000000000001", "vdi.agent-secret", "c0ffee")));
        golden("start", HyperVScripts.start("finance-0a1b2c3d", 150));
        golden("stop", HyperVScripts.stop("finance-0a1b2c3d", 60));
        golden("turn-off", HyperVScripts.turnOff("finance-0a1b2c3d"));
        golden("revert", HyperVScripts.revert("finance-0a1b2c3d", Map.of("vdi.agent-secret", "5ec0d")));
        golden("delete", HyperVScripts.delete("finance-0a1b2c3d", "D:\\VDI\\Desktops\\finance-0a1b2c3d.vhdx"));
        golden("state", HyperVScripts.state("finance-0a1b2c3d"));
    }

    @Test
    void valuesStayInsideTheirLiteralWhateverTheyHold() {
        assertThat(HyperVScripts.quote("plain")).isEqualTo("'plain'");
        assertThat(HyperVScripts.quote("it's")).isEqualTo("'it''s'");
        // PowerShell also ends a single-quoted string at the typographic quotes: each is doubled too
        assertThat(HyperVScripts.quote("a\u2018b\u2019c\u201Ad\u201Be"))
                .isEqualTo("'a\u2018\u2018b\u2019\u2019c\u201A\u201Ad\u201B\u201Be'");
        // nothing expands inside single quotes: $(), $env:, backticks and double quotes are kept as they are
        assertThat(HyperVScripts.quote("$(Stop-Computer) `n \"$env:X\"")).isEqualTo("'$(Stop-Computer) `n \"$env:X\"'");
        assertThatThrownBy(() -> HyperVScripts.quote("nul\0")).isInstanceOf(IllegalArgumentException.class);

        String hostile = "x'; Remove-VM * -Force; '\u2019";
        String script = HyperVScripts.provision("d1", "C:\\p.vhdx", "C:\\d1.vhdx", "", 1, 1024,
                Map.of("vdi.agent-secret", hostile));
        FakeHyperVModel.Script parsed = FakeHyperVModel.Script.parse(script);
        assertThat(parsed.table("kvp")).containsEntry("vdi.agent-secret", hostile);
        assertThat(parsed.text("n")).isEqualTo("d1");
    }

    @Test
    void everyScriptFitsWinRmsCommandLineOnceEncoded() {
        String longest = HyperVScripts.provision("p".repeat(64), "D:\\" + "t".repeat(200) + ".vhdx",
                "D:\\" + "d".repeat(200) + "\\" + "p".repeat(64) + ".vhdx", "s".repeat(100), 64, 1_048_576,
                Map.of("vdi.desktop-id", "0a1b2c3d-0000-4000-8000-000000000001", "vdi.agent-secret", "f".repeat(64)));
        String command = WinRmPowerShell.command(longest); // exactly what the driver sends
        assertThat(command).isEqualTo("powershell -encodedcommand "
                + Base64.getEncoder().encodeToString(longest.getBytes(StandardCharsets.UTF_16LE)));
        // cmd.exe's limit is 8191 characters: the script travels as one command line
        assertThat(command.length()).isLessThan(8191);
    }

    private static void golden(String name, String script) throws Exception {
        Path file = GOLDEN.resolve(name + ".ps1");
        if (Boolean.getBoolean("golden.update")) {
            Files.createDirectories(GOLDEN);
            Files.writeString(file, script, StandardCharsets.UTF_8);
        }
        assertThat(script).as("script of %s (golden file %s)", name, file)
                .isEqualTo(Files.readString(file, StandardCharsets.UTF_8));
    }
}
