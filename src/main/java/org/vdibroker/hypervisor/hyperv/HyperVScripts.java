package org.vdibroker.hypervisor.hyperv;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The PowerShell the Hyper-V driver runs, one pure function per operation: inputs in, one script out. Every script has
 * the same shape, which the test fake relies on: a tag line {@code # vdi-broker hyperv <operation>}, then one line per
 * input ({@code $n='value'} with the value as a single-quoted literal, or a whole number), then a fixed body inside
 * {@code try/catch}. A script prints exactly one JSON document ({@code ConvertTo-Json -Compress}); on failure it
 * prints {@code {"error":category,"id":FullyQualifiedErrorId,"message":...}} and exits with 1.
 */
final class HyperVScripts {

    /** The checkpoint every desktop is reverted to: taken right after provisioning, with the VM off. */
    static final String BASE_CHECKPOINT = "vdi-base";
    /** What the broker writes into a desktop VM's notes, so it never touches VMs it did not make. */
    static final String NOTES = "vdi-broker";

    private static final String TAG = "# vdi-broker hyperv ";

    private HyperVScripts() {
    }

    /** Capacity of the host and what its VMs use: CPUs, memory, number of broker desktops. */
    static String usage() {
        return script("usage", new TreeMap<>(), """
                $h=Get-VMHost
                $vms=@(Get-VM)
                $on=@($vms|Where-Object {$_.State -ne 'Off'})
                $mine=@($vms|Where-Object {$_.Notes -like ($o+'*')})
                @{cpus=[int]$h.LogicalProcessorCount;memoryMb=[int64]($h.MemoryCapacity/1MB);desktops=$mine.Count;\
                usedVcpus=[int](($on|Measure-Object ProcessorCount -Sum).Sum);\
                usedMemoryMb=[int64](($on|Measure-Object MemoryAssigned -Sum).Sum/1MB)}|ConvertTo-Json -Compress""",
                "$o=" + quote(NOTES));
    }

    /** VMs whose name starts with {@code prefix} (ordinal comparison), always as a JSON array. */
    static String listVms(String prefix) {
        return script("list", inputs("x", prefix), """
                $r=@(Get-VM|Where-Object {$_.Name.StartsWith($x,[StringComparison]::Ordinal)}|ForEach-Object {\
                @{id=[string]$_.VMId;name=$_.Name;state=[string]$_.State;cpus=[int]$_.ProcessorCount;\
                memoryMb=[int64]($_.MemoryStartup/1MB)}})
                ConvertTo-Json -Compress -Depth 3 -InputObject $r""");
    }

    /**
     * A generation 2 VM on a differencing disk of the template's parent disk, with the guest's data as KVP items
     * (host to guest), and its base checkpoint; left off. Cleans up after itself when a step fails.
     */
    static String provision(String name, String parentDisk, String disk, String switchName, int vcpus, long memoryMb,
            Map<String, String> guestData) {
        SortedMap<String, Object> in = inputs("n", name);
        in.put("p", parentDisk);
        in.put("d", disk);
        in.put("s", switchName == null ? "" : switchName);
        in.put("c", vcpus);
        in.put("m", memoryMb);
        List<String> pairs = new ArrayList<>();
        new TreeMap<>(guestData).forEach((k, v) -> pairs.add(quote(k) + "=" + quote(v)));
        return script("provision", in, """
                if(Get-VM -Name $n -ErrorAction SilentlyContinue){throw ('A VM named '+$n+' exists')}
                if(Test-Path -LiteralPath $d){Remove-Item -LiteralPath $d -Force}
                New-VHD -Path $d -ParentPath $p -Differencing|Out-Null
                try{
                $vm=New-VM -Name $n -Generation 2 -MemoryStartupBytes ($m*1MB) -VHDPath $d
                if($s){Connect-VMNetworkAdapter -VMName $n -SwitchName $s}
                Set-VMProcessor -VM $vm -Count $c
                Set-VM -VM $vm -Notes $o -CheckpointType Standard -AutomaticCheckpointsEnabled $false
                $v=Get-WmiObject -Namespace root\\virtualization\\v2 -Class Msvm_VirtualSystemManagementService
                $cs=Get-WmiObject -Namespace root\\virtualization\\v2 -Class Msvm_ComputerSystem -Filter (\
                "Name='"+$vm.VMId+"'")
                foreach($k in $kvp.Keys){\
                $i=([WMIClass]'root\\virtualization\\v2:Msvm_KvpExchangeDataItem').CreateInstance();\
                $i.Name=$k;$i.Data=$kvp[$k];$i.Source=0;$v.AddKvpItems($cs,$i.PSBase.GetText(1))|Out-Null}
                Checkpoint-VM -VM $vm -SnapshotName $b
                }catch{Remove-VM -Name $n -Force -ErrorAction SilentlyContinue;\
                Remove-Item -LiteralPath $d -Force -ErrorAction SilentlyContinue;throw}
                @{id=[string]$vm.VMId;name=$vm.Name;state=[string]$vm.State}|ConvertTo-Json -Compress""",
                "$o=" + quote(NOTES), "$b=" + quote(BASE_CHECKPOINT), "$kvp=@{" + String.join(";", pairs) + "}");
    }

    /**
     * Starts the VM unless it runs. A VM that is {@code Starting} (a Start-VM in flight, e.g. another node's, whose
     * answer may have been lost) is not started again, which fails while it changes state: the script waits, as
     * Start-VM itself would, until it leaves that state, up to {@code waitSeconds}. It answers the state it ends with,
     * which may still be {@code Starting}.
     */
    static String start(String name, long waitSeconds) {
        SortedMap<String, Object> in = inputs("n", name);
        in.put("w", waitSeconds);
        return script("start", in, """
                $vm=Get-VM -Name $n
                for($i=0;$i -lt $w -and (Get-VM -Name $n).State -like 'Starting*';$i++){Start-Sleep -Seconds 1}
                $s=[string](Get-VM -Name $n).State
                if($s -ne 'Running' -and $s -notlike 'Starting*'){Start-VM -VM $vm}
                @{id=[string]$vm.VMId;state=[string](Get-VM -Name $n).State}|ConvertTo-Json -Compress""");
    }

    /** Asks the guest to shut down, waits up to {@code timeoutSeconds}, then turns the VM off. */
    static String stop(String name, long timeoutSeconds) {
        SortedMap<String, Object> in = inputs("n", name);
        in.put("t", timeoutSeconds);
        return script("stop", in, """
                $vm=Get-VM -Name $n
                if($vm.State -ne 'Off'){$j=Stop-VM -VM $vm -Force -AsJob;Wait-Job $j -Timeout $t|Out-Null;\
                if((Get-VM -Name $n).State -ne 'Off'){Stop-VM -VM $vm -TurnOff -Force}}
                @{id=[string]$vm.VMId;state=[string](Get-VM -Name $n).State}|ConvertTo-Json -Compress""");
    }

    /** Turns the VM off at once (pulls the plug); for a shutdown that another broker node started and lost. */
    static String turnOff(String name) {
        return script("turn-off", inputs("n", name), """
                $vm=Get-VM -Name $n
                if($vm.State -ne 'Off'){Stop-VM -VM $vm -TurnOff -Force}
                @{id=[string]$vm.VMId;state=[string](Get-VM -Name $n).State}|ConvertTo-Json -Compress""");
    }

    /** Turns the VM off and applies its base checkpoint: the disk and settings are as just after provisioning. */
    static String revert(String name, Map<String, String> guestData) {
        List<String> pairs = new ArrayList<>();
        new TreeMap<>(guestData).forEach((k, v) -> pairs.add(quote(k) + "=" + quote(v)));
        // the checkpoint brings back the KVP items of provisioning: the refresh's (a new agent secret) replace them
        return script("revert", inputs("n", name), """
                $vm=Get-VM -Name $n
                if($vm.Notes -notlike ($o+'*')){throw ('VM '+$n+' was not made by the broker')}
                if($vm.State -ne 'Off'){Stop-VM -VM $vm -TurnOff -Force}
                Restore-VMSnapshot -VMName $n -Name $b -Confirm:$false
                $v=Get-WmiObject -Namespace root\\virtualization\\v2 -Class Msvm_VirtualSystemManagementService
                $cs=Get-WmiObject -Namespace root\\virtualization\\v2 -Class Msvm_ComputerSystem -Filter (\
                "Name='"+$vm.VMId+"'")
                foreach($k in $kvp.Keys){\
                $i=([WMIClass]'root\\virtualization\\v2:Msvm_KvpExchangeDataItem').CreateInstance();\
                $i.Name=$k;$i.Data=$kvp[$k];$i.Source=0;$t=$i.PSBase.GetText(1);\
                $v.RemoveKvpItems($cs,$t)|Out-Null;$v.AddKvpItems($cs,$t)|Out-Null}
                @{id=[string]$vm.VMId;state=[string](Get-VM -Name $n).State}|ConvertTo-Json -Compress""",
                "$o=" + quote(NOTES), "$b=" + quote(BASE_CHECKPOINT), "$kvp=@{" + String.join(";", pairs) + "}");
    }

    /** Turns the VM off, removes it with its checkpoints and deletes its disks; a VM that is gone counts as deleted. */
    static String delete(String name, String disk) {
        SortedMap<String, Object> in = inputs("n", name);
        in.put("d", disk);
        return script("delete", in, """
                $vm=Get-VM -Name $n -ErrorAction SilentlyContinue
                if($vm){
                if($vm.Notes -notlike ($o+'*')){throw ('VM '+$n+' was not made by the broker')}
                if($vm.State -ne 'Off'){Stop-VM -VM $vm -TurnOff -Force}
                $disks=@($vm|Get-VMHardDiskDrive|ForEach-Object {$_.Path})+@($d)
                Remove-VM -VM $vm -Force
                foreach($f in $disks){Remove-Item -LiteralPath $f -Force -ErrorAction SilentlyContinue}}
                @{deleted=$true}|ConvertTo-Json -Compress""",
                "$o=" + quote(NOTES));
    }

    /**
     * What the driver needs to poll a task and to connect: whether the VM exists, its id and power state, whether it
     * has its base checkpoint, and the guest's IPv4 addresses (from the network adapters, through integration
     * services).
     */
    static String state(String name) {
        return script("state", inputs("n", name), """
                $vm=Get-VM -Name $n -ErrorAction SilentlyContinue
                if(-not $vm){@{exists=$false}|ConvertTo-Json -Compress}else{
                $ips=@($vm|Get-VMNetworkAdapter|ForEach-Object {$_.IPAddresses}|\
                Where-Object {$_ -match '^[0-9.]+$' -and $_ -notlike '169.254.*'})
                @{exists=$true;id=[string]$vm.VMId;state=[string]$vm.State;\
                base=(@(Get-VMSnapshot -VM $vm -Name $b -ErrorAction SilentlyContinue).Count -gt 0);\
                ips=$ips}|ConvertTo-Json -Compress}""",
                "$b=" + quote(BASE_CHECKPOINT));
    }

    /**
     * A PowerShell single-quoted literal of {@code value}: nothing inside is expanded. PowerShell ends such a string
     * at any of the four quote marks it accepts (' and the typographic ‘ ’ ‚ ‛), so each is doubled, which PowerShell
     * reads as one literal quote.
     */
    static String quote(String value) {
        StringBuilder b = new StringBuilder(value.length() + 2).append('\'');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == 0) {
                throw new IllegalArgumentException("a PowerShell value cannot hold a NUL character");
            }
            b.append(c);
            if (isQuote(c)) {
                b.append(c);
            }
        }
        return b.append('\'').toString();
    }

    static boolean isQuote(char c) {
        return c == '\'' || c == '\u2018' || c == '\u2019' || c == '\u201A' || c == '\u201B';
    }

    private static SortedMap<String, Object> inputs(String variable, String value) {
        SortedMap<String, Object> in = new TreeMap<>();
        in.put(variable, value);
        return in;
    }

    private static String script(String operation, SortedMap<String, Object> inputs, String body, String... fixed) {
        StringBuilder b = new StringBuilder();
        b.append(TAG).append(operation).append('\n');
        b.append("$ErrorActionPreference='Stop'\n");
        inputs.forEach((variable, value) -> b.append('$').append(variable).append('=')
                .append(value instanceof String s ? quote(s) : String.valueOf(value)).append('\n'));
        for (String line : fixed) {
            b.append(line).append('\n');
        }
        b.append("try{\n").append(body).append('\n');
        b.append("}catch{\n");
        b.append("@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;"
                + "message=[string]$_.Exception.Message}|ConvertTo-Json -Compress\n");
        b.append("exit 1\n}\n");
        return b.toString();
    }
}
