# vdi-broker hyperv stop
$ErrorActionPreference='Stop'
$n='finance-0a1b2c3d'
$t=60
try{
$vm=Get-VM -Name $n
if($vm.State -ne 'Off'){$j=Stop-VM -VM $vm -Force -AsJob;Wait-Job $j -Timeout $t|Out-Null;if((Get-VM -Name $n).State -ne 'Off'){Stop-VM -VM $vm -TurnOff -Force}}
@{id=[string]$vm.VMId;state=[string](Get-VM -Name $n).State}|ConvertTo-Json -Compress
}catch{
@{error=[string]$_.CategoryInfo.Category;id=[string]$_.FullyQualifiedErrorId;message=[string]$_.Exception.Message}|ConvertTo-Json -Compress
exit 1
}
