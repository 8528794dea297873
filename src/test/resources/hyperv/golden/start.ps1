# vdi-broker hyperv start
$ErrorActionPreference='Stop'
$n='finance-0a1b2c3d'
try{
$vm=Get-VM -Name $n
if($vm.State -ne 'Running'){Start-VM -VM $vm}
@{id=[string]$vm.VMId;state=[string](Get-VM -Name $n).State}|ConvertTo-Json -Compress
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
