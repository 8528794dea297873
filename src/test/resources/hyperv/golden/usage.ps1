# vdi-broker hyperv usage
$ErrorActionPreference='Stop'
$o='vdi-broker'
try{
$h=Get-VMHost
$vms=@(Get-VM)
$on=@($vms|Where-Object {$_.State -ne 'Off'})
$mine=@($vms|Where-Object {$_.Notes -like ($o+'*')})
@{cpus=[int]$h.LogicalProcessorCount;memoryMb=[int64]($h.MemoryCapacity/1MB);desktops=$mine.Count;usedVcpus=[int](($on|Measure-Object ProcessorCount -Sum).Sum);usedMemoryMb=[int64](($on|Measure-Object MemoryAssigned -Sum).Sum/1MB)}|ConvertTo-Json -Compress
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
