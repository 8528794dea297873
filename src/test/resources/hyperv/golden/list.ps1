# vdi-broker hyperv list
$ErrorActionPreference='Stop'
$x='finance-'
try{
$r=@(Get-VM|Where-Object {$_.Name.StartsWith($x,[StringComparison]::Ordinal)}|ForEach-Object {@{id=[string]$_.VMId;name=$_.Name;state=[string]$_.State;cpus=[int]$_.ProcessorCount;memoryMb=[int64]($_.MemoryStartup/1MB)}})
ConvertTo-Json -Compress -Depth 3 -InputObject $r
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
