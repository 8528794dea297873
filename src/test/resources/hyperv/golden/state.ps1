# vdi-broker hyperv state
$ErrorActionPreference='Stop'
$n='finance-0a1b2c3d'
$b='vdi-base'
try{
$vm=Get-VM -Name $n -ErrorAction SilentlyContinue
if(-not $vm){@{exists=$false}|ConvertTo-Json -Compress}else{
$ips=@($vm|Get-VMNetworkAdapter|ForEach-Object {$_.IPAddresses}|Where-Object {$_ -match '^[0-9.]+$' -and $_ -notlike '169.254.*'})
@{exists=$true;id=[string]$vm.VMId;state=[string]$vm.State;base=(@(Get-VMSnapshot -VM $vm -Name $b -ErrorAction SilentlyContinue).Count -gt 0);ips=$ips}|ConvertTo-Json -Compress}
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
