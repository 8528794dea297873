# vdi-broker hyperv revert
$ErrorActionPreference='Stop'
$n='finance-0a1b2c3d'
$o='vdi-broker'
$b='vdi-base'
try{
$vm=Get-VM -Name $n
if($vm.Notes -notlike ($o+'*')){throw ('VM '+$n+' was not made by the broker')}
if($vm.State -ne 'Off'){Stop-VM -VM $vm -TurnOff -Force}
Restore-VMSnapshot -VMName $n -Name $b -Confirm:$false
@{id=[string]$vm.VMId;state=[string](Get-VM -Name $n).State}|ConvertTo-Json -Compress
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
